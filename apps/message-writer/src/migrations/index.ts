import type { Migrations } from '@metadome/db'
import * as users from './2026-11-24-0001-users.js'
import * as conversations from './2026-11-24-0002-conversations.js'
import * as userVersions from './2026-11-24-0003-user-versions.js'
import * as derivedLastSeq from './2026-11-24-0004-derived-last-seq.js'
import * as groups from './2026-11-24-0005-groups.js'
import * as messagesSeqIndex from './2026-12-02-0006-messages-seq-index.js'
import * as membershipHistory from './2026-12-10-0007-membership-history.js'
import * as groupLimitsIndex from './2026-12-11-0008-group-limits-index.js'
import * as blocks from './2026-12-12-0009-blocks.js'

// Listed explicitly rather than read from the folder, so the same list works
// from src/ under tsx and from dist/ in the image. Names sort in run order.
export const migrations: Migrations = {
  '2026-11-24-0001-users': users,
  '2026-11-24-0002-conversations': conversations,
  '2026-11-24-0003-user-versions': userVersions,
  '2026-11-24-0004-derived-last-seq': derivedLastSeq,
  '2026-11-24-0005-groups': groups,
  '2026-12-02-0006-messages-seq-index': messagesSeqIndex,
  '2026-12-10-0007-membership-history': membershipHistory,
  '2026-12-11-0008-group-limits-index': groupLimitsIndex,
  '2026-12-12-0009-blocks': blocks
}
