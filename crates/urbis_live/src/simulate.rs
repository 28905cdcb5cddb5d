//! simulator (todo)
