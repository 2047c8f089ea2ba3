//! Decision: the policy, the persisted state, and the pure function that turns
//! observations into an action.

pub mod cadence;
pub mod decide;
pub mod msig;
pub mod policy;
pub mod state;

pub use decide::{
    decide, DataCenter, Decision, EndpointView, HoldReason, Inputs, Readiness, Trigger,
};
pub use policy::{Failback, Policy};
pub use state::{PendingSwitch, State, SwitchRecord};
