//! Live agents: the people a transferred call goes to. `pool` decides (who is free, who is
//! the most idle, which waiting caller gets which agent) as a pure state machine; `service`
//! runs it on the clock and dials agents; `sim` answers as simulated agents do; `card` is a
//! transferred call as the agent desk shows it; `wrap_up` checks what the agent writes after
//! it. docs/agents.md is the user's reference.
pub mod card;
pub mod pool;
pub mod service;
pub mod sim;
pub mod sip;
#[cfg(feature = "campaigns")]
pub mod wrap_up;
