//! `[msig]` mode, the I/O: the switch to a data center goes through `eosio.msig` instead of a
//! regproducer signed by this host alone.
//!
//! The incident's proposal name ([`Incident::proposal_name`]) is derived from what every
//! honest observer sees the same way; its `proposal` and `approvals2` rows are read, in every
//! configured observer's scope, by a majority of the endpoints. The pure
//! [`plan`](crate::decision::msig::plan) says what to do with them: propose and approve in
//! one transaction, approve (and execute, when ours is the k-th approval) the exact switch
//! we would send, execute one that is complete, or wait. A proposal for anything else is
//! reported (`msig_proposal_rejected`) and never approved. The state file records the
//! proposal ([`MsigRecord`]) before anything is pushed; each table round re-plans while the
//! incident lasts (two observers proposing at once converge on one proposal), and a stale
//! proposal of ours (the key switched, or expired) is cancelled.
//!
//! [`Incident::proposal_name`]: crate::antelope::msig::Incident::proposal_name
//! [`MsigRecord`]: crate::decision::state::MsigRecord

mod actions;
mod follow;
mod manual;
mod push;
mod survey;

pub(crate) use manual::manual;
