-- Intake can be paused for one code, with a message for the people who scan it.
ALTER TABLE codes ADD COLUMN paused_message TEXT;
