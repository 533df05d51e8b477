//! zprsim's integration tests: one binary, one module per topic.

mod cases;
mod differential;
mod lab;
mod replay;
mod replay_oracle;
