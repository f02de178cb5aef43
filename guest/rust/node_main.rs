// The crate root of a Rust node. compile.sh writes this file into the work
// dir next to a copy of the user's file, with @USER_MODULE_FILE@ replaced
// by that copy's name: the user's file is the module `node`, so rustc
// reports its errors (and panics their locations) with the user's own line
// numbers.
//
// The WIT export `execute` converts the records and calls the user's
// `pub fn execute(input_items: Vec<Item>, config: C, context: Context) -> R`
// (C: Deserialize, R: marie::IntoResponse) through marie::__private::run.
// compile.sh reports errors in this file (no `execute`, a private one, a
// wrong signature) at the user's `fn execute`.

#[path = "@USER_MODULE_FILE@"]
mod node;

struct Node;

impl marie::bindings::Guest for Node {
    fn execute(
        input: Vec<marie::bindings::Item>,
        env: marie::bindings::Env,
        ctx: marie::bindings::Context,
    ) -> marie::bindings::Response {
        marie::__private::run(input, env, ctx, node::execute)
    }
}

marie::bindings::__export_node!(Node);
