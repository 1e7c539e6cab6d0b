-- Each ward's own Ed25519 public key, with which its receipts and as-run
-- lines are signed. The ward makes the key pair itself (the private half
-- never leaves the station) and registers the public half with its token
-- (PUT /api/v1/ward/receipt-key); redeeming a join code forgets it, so
-- that the re-provisioned station registers a new one.
CREATE TABLE IF NOT EXISTS ward_receipt_keys (
	ward       TEXT PRIMARY KEY REFERENCES wards(id) ON DELETE CASCADE,
	public_key TEXT NOT NULL,     -- standard base64 of the 32 bytes
	key_id     TEXT NOT NULL,     -- signing.KeyID
	created_at INTEGER NOT NULL   -- unix ms
) STRICT;
