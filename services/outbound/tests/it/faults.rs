//! Kill -9 tests (below).
