-- Attachments: files on object storage, keyed by the SHA-256 of their content (identical files stored once).
create table attachments (
    id integer primary key,
    proposal_id integer not null references proposals(id),
    object_key text not null,
    sha256 text not null,
    file_name text not null,
    content_type text not null,
    size_bytes integer not null,
    caption text not null default '',
    uploaded_by integer not null references users(id),
    created_at text not null
);
create index attachments_proposal on attachments (proposal_id);
create index attachments_object_key on attachments (object_key);
