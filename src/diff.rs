//! The diff: two snapshots in, the events between them out. Pure: no I/O, no clock.
