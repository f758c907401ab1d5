-- SPDX-License-Identifier: Apache-2.0
-- 0013: what /metrics reads of the cluster at every scrape stays cheap as the
-- history grows: failed notifications (which stay) are counted from an index
-- of their own, not by scanning every sent one.
CREATE INDEX notifications_failed ON notifications (id) WHERE status = 'failed';
