//! A first signal (SIGINT, SIGTERM) at each stage of a run ends it with whole partial
//! outputs, and the report says where it stopped.

mod diff;
mod loading;
mod replay_and_bench;
