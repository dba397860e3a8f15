-- The message a delivery went out in. Set just before a digest or webhook
-- post is handed to its channel; if the process dies before the result is
-- recorded, the next run resends exactly that message (same alerts, same
-- Message-ID) before grouping anything new, so a resend is recognisable.
ALTER TABLE delivery ADD COLUMN batch TEXT;
