//! The `autoinformer` command line.
fn main() {
    println!("autoinformer");
}
