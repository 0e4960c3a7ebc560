-- The visibility rule asks, for each proposal row, "is the viewer one of its authors?" and "is it of the
-- viewer's enterprise, or the viewer's own?": answer both from indexes alone — whatever the number of
-- proposals the viewer has written, and without reading the table rows when a page counts its total.
create index proposal_authors_user_proposal on proposal_authors (user_id, proposal_id);
drop index proposal_authors_user;
-- (proposals_status stays: pages are read in id order within a status, which this index does not give.)
create index proposals_visibility on proposals (status, enterprise_id, created_by);
