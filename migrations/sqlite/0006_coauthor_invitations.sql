-- Co-authors are invited and join when they accept: nobody is named as an author (and given points, and a
-- conflict of interest that blocks their review work) without their consent.
create table coauthor_invitations (
    proposal_id integer not null references proposals(id),
    user_id integer not null references users(id),
    invited_by integer not null references users(id),
    created_at text not null,
    primary key (proposal_id, user_id)
);
create index coauthor_invitations_user on coauthor_invitations (user_id);
