//! (tests for this feature go here)
