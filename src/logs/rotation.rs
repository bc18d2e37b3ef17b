//! Size- and time-based log file rotation (being written).
