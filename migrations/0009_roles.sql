-- Roles beyond "customer", which every user holds implicitly: staff roles granted by an operator
-- (`usvc users grant`). They travel in the access token's `roles` claim.
CREATE TABLE user_roles (
    user_id    TEXT NOT NULL REFERENCES users (id),
    role       TEXT NOT NULL CHECK (role IN ('admin', 'compliance', 'support')),
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role)
);
