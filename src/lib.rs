pub mod antelope;
pub mod api;
pub mod commands;
pub mod config;
