//! Parley: a self-hosted team chat in one executable.
