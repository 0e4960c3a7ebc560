-- Import: records without an external id are matched by their exact title (and body), techniques by name.
create index proposals_title on proposals (title);
create index techniques_name on techniques (name);
