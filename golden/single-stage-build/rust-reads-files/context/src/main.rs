use std::fs;
fn main() {
    let page = fs::read_to_string("index.html").unwrap();
    println!("{page}");
}
