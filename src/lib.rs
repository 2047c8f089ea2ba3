pub mod antelope;
