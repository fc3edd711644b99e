-- the model registry's metadata (the artefacts stay files under the models folder, checked against
-- artefact_sha256 in meta) and each name's champion, shared by every replica
CREATE TABLE model_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    model_id TEXT NOT NULL,
    meta TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE model_champions (
    name TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    record TEXT NOT NULL,
    promoted_at REAL NOT NULL
);
