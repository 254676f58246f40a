//! Live agents: the people a transferred call goes to. `pool` decides (who is free, who is
//! the most idle, which waiting caller gets which agent) as a pure state machine; `service`
//! runs it on the clock and dials agents; `sim` answers as simulated agents do. docs/agents.md
//! is the user's reference.
pub mod pool;
pub mod service;
pub mod sim;
pub mod sip;
