-- The notifications centre (services/user/src/notifications): what the user was told in the app,
-- what they chose per kind, their language, and the devices they logged in from (to tell them of
-- a new one).
CREATE TABLE notifications (
  notification_id text PRIMARY KEY,
  user_id text NOT NULL,
  kind integer NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  link text NOT NULL,
  created_at_ms bigint NOT NULL,
  read_at_ms bigint
);
CREATE INDEX notifications_by_user ON notifications (user_id, notification_id DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at_ms IS NULL;

CREATE TABLE notification_preferences (
  user_id text NOT NULL,
  kind integer NOT NULL,
  in_app boolean NOT NULL,
  email boolean NOT NULL,
  PRIMARY KEY (user_id, kind)
);

CREATE TABLE notification_settings (
  user_id text PRIMARY KEY,
  language text NOT NULL CHECK (language IN ('en', 'pt'))
);

CREATE TABLE notification_known_devices (
  user_id text NOT NULL,
  device_key text NOT NULL,
  first_seen_at_ms bigint NOT NULL,
  PRIMARY KEY (user_id, device_key)
);
