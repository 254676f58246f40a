//! One call: drives media analysis, AMD and the scenario over any source of callee frames and
//! any clock; produces the robot's outgoing frames and the outcome. Used by replay now and by
//! live calls later.
