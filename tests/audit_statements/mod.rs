//! The ZPR statements proposed for audited flows (`zpr_audit_flows`): never a reverse
//! statement for a flow seen from its middle, bounded lists said incomplete, ties in one
//! second of flow logs.

mod captures;
mod flow_logs;
