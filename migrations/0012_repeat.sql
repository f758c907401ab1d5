-- SPDX-License-Identifier: Apache-2.0
-- 0012: repeats of an open alert notify again after their level's repeat
-- interval (notify.repeat_s): a 'repeat' intent, made by the notifier's timer.
ALTER TABLE notify_intents DROP CONSTRAINT notify_intents_reason_check;
ALTER TABLE notify_intents ADD CONSTRAINT notify_intents_reason_check
    CHECK (reason IN ('open', 'escalate', 'resolve', 'timeout', 'repeat'));
