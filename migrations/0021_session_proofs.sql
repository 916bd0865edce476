-- What a session has proved. `password_at`: when its customer last gave the password in it (the
-- login that opened it, or a re-authentication since); NULL means at `created_at`. `roles`: the
-- staff roles held at that login, comma-separated: a refresh never adds a role granted later.
ALTER TABLE sessions ADD COLUMN password_at BIGINT;
ALTER TABLE sessions ADD COLUMN roles TEXT NOT NULL DEFAULT '';
