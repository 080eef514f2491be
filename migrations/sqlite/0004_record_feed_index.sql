-- Fan-out pages over many workspaces walk a collection newest first and keep the rows of the
-- caller's workspaces; this covering index serves that walk without touching the table.
CREATE INDEX records_by_collection_id ON records(collection, id, workspace_id);
