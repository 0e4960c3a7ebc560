-- The visibility rule asks, for each proposal row, "is the viewer one of its authors?": answer it from the
-- index alone, whatever the number of proposals the viewer has written.
create index proposal_authors_user_proposal on proposal_authors (user_id, proposal_id);
drop index proposal_authors_user;
