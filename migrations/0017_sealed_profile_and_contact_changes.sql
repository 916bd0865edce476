-- Personal data sealed at rest, and changes of phone number and email address waiting for their
-- code.
--
-- `users.date_of_birth` keeps its column but now holds the date sealed with AES-256-GCM
-- (USVC_SECRETS_KEY, bound to `user:<id>:date_of_birth`); the postal address and the national
-- id number live sealed in the new `profiles` columns (`profile:<id>:address`, a JSON object,
-- and `profile:<id>:national_id`). SQL cannot seal, so rows written in the clear by earlier
-- versions are sealed by the host at start-up (`store::sealing`), and read correctly until then.
ALTER TABLE profiles ADD COLUMN address_sealed TEXT;
ALTER TABLE profiles ADD COLUMN national_id_sealed TEXT;

-- When the customer proved they receive messages at `users.phone`; NULL while unproven (a phone
-- given at registration is).
ALTER TABLE users ADD COLUMN phone_verified_at BIGINT;

-- A change of phone number or email address that waits for the code sent to the new one: at most
-- one per customer and channel, replaced by a new request. The code is kept as SHA-256; the
-- change dies after too many wrong codes.
CREATE TABLE contact_changes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel    TEXT NOT NULL CHECK (channel IN ('phone', 'email')),
    new_value  TEXT NOT NULL,    -- E.164 number or normalised address
    code_hash  TEXT NOT NULL,    -- hex SHA-256 of the code
    attempts   BIGINT NOT NULL,  -- wrong codes so far
    sent_at    BIGINT NOT NULL,  -- when the last code was sent (resend throttling)
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, channel)
);
