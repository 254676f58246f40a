//! Support code for the AMD corpus test: the corpus generator and the app_amd baseline.
pub mod baseline;
pub mod corpus;
