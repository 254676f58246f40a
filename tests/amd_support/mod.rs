//! Support code for the AMD tests: the corpus generators and the app_amd baseline.
#![allow(dead_code)]
pub mod baseline;
pub mod campaign;
pub mod corpus;
