-- How much of a message a user's push notifications show
-- (`SettingsChanged.push_preview`: full|sender_only|nothing), read by the
-- push notifier.
ALTER TABLE rm_users.users ADD COLUMN IF NOT EXISTS push_preview text NOT NULL DEFAULT 'full';
