//! What one GraphQL document may ask of the server, checked before anything else works on it, for every
//! transport (HTTP, multipart, WebSocket):
//!
//! 1. **The text** ([`scan`]): size, tokens and bracket nesting, by a linear scan without recursion — the
//!    parser recurses on nested values and types, and a few thousand `[` overflowed a worker's stack.
//! 2. **The parsed document** ([`Limits::check`]): fragment cycles, selections counted after fragments are
//!    spread (each fragment is counted once and its size remembered, so `...F` spread twice per level costs
//!    nothing to count), aliases, directives per location, and the cost of the selected operation: a page
//!    of `first: N` costs N times what it selects. async-graphql's own checks and validation rules spread
//!    fragments without remembering; they only see documents that passed these bounds.
//!
//! Nothing here recurses deeper than the bracket nesting the scan allowed.

use std::{
    collections::HashMap,
    sync::{atomic::Ordering, Arc},
};

use async_graphql::{
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{
        BaseType, DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
        ServiceDocument, Type, TypeDefinition, TypeKind, TypeSystemDefinition,
    },
    Name, Positioned, ServerError, ServerResult, Value as ConstValue, Variables,
};
use async_graphql_value::Value;

use super::{
    connection::{DEFAULT_PAGE, MAX_PAGE},
    phase::ValidationFailed,
};

/// A list field without page arguments (authors, scores, members) counts as this many items.
pub const UNPAGED_LIST_ITEMS: u64 = 10;

/// The bounds of one document.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes of document text.
    pub max_bytes: usize,
    /// Lexical tokens (names, punctuation, strings, numbers); comments and white space are free.
    pub max_tokens: usize,
    /// Open brackets — `{`, `[`, `(` — at any point: selection sets, lists, objects and list types.
    pub max_nesting: usize,
    /// Selections once every fragment is spread, over all operations and fragment definitions.
    pub max_selections: u64,
    /// Aliased fields, as written.
    pub max_aliases: usize,
    /// Directives on one field, fragment, operation or variable.
    pub max_directives: usize,
    /// Cost of the operation that runs (see [`CostModel`]).
    pub max_cost: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 128 * 1024,
            max_tokens: 15_000,
            max_nesting: 64,
            max_selections: 5_000,
            max_aliases: 50,
            max_directives: 16,
            max_cost: 10_000,
        }
    }
}

/// Why a document was refused. Every refusal is the client's doing: a 4xx with a stable code.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    TooLarge { bytes: usize, max: usize },
    TooManyTokens { max: usize },
    TooDeep { max: usize },
    FragmentCycle { fragment: String },
    UnknownFragment { fragment: String },
    TooManySelections { selections: u64, max: u64 },
    TooManyAliases { aliases: usize, max: usize },
    TooManyDirectives { directives: usize, max: usize },
    UnknownOperation { name: String },
    OperationNameRequired,
    CostExceeded { cost: u64, max: u64 },
    IntOutOfRange { argument: String },
    PageSize { argument: String },
    BadCursor { argument: String },
}

impl Refusal {
    /// The stable `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::TooLarge { .. } | Refusal::TooManyTokens { .. } | Refusal::TooDeep { .. } => {
                "GRAPHQL_PARSE_FAILED"
            }
            Refusal::UnknownOperation { .. } | Refusal::OperationNameRequired => "BAD_REQUEST",
            Refusal::CostExceeded { .. } => "COST_LIMIT_EXCEEDED",
            _ => "GRAPHQL_VALIDATION_FAILED",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::TooLarge { bytes, max } => {
                format!("the document has {bytes} bytes; at most {max} are accepted / 查询文档过大")
            }
            Refusal::TooManyTokens { max } => {
                format!("the document has more than {max} tokens / 查询文档过长")
            }
            Refusal::TooDeep { max } => {
                format!("brackets nest more than {max} levels deep / 查询嵌套层数过多")
            }
            Refusal::FragmentCycle { fragment } => {
                format!("fragment {fragment} spreads itself, directly or through others / 片段循环引用")
            }
            Refusal::UnknownFragment { fragment } => format!("unknown fragment {fragment} / 未定义的片段"),
            Refusal::TooManySelections { selections, max } => format!(
                "the document selects {selections} fields once its fragments are spread; at most {max} are allowed / 查询字段过多"
            ),
            Refusal::TooManyAliases { aliases, max } => {
                format!("the document has {aliases} aliases; at most {max} are allowed / 别名过多")
            }
            Refusal::TooManyDirectives { directives, max } => {
                format!("{directives} directives in one place; at most {max} are allowed / 指令过多")
            }
            Refusal::UnknownOperation { name } => {
                format!("the document has no operation named {name} / 文档中没有名为{name}的操作")
            }
            Refusal::OperationNameRequired => {
                "the document has several operations: say which one with operationName / 文档含多个操作，请指定operationName".into()
            }
            Refusal::PageSize { argument } => {
                format!("{argument} must be between 0 and {MAX_PAGE} / 每页数量须在0到{MAX_PAGE}之间")
            }
            Refusal::BadCursor { argument } => format!("{argument} is not a valid cursor / 无效的分页游标"),
            Refusal::IntOutOfRange { argument } => format!(
                "{argument}: an Int is a 32-bit integer, from -2147483648 to 2147483647 / 整数超出范围"
            ),
            Refusal::CostExceeded { cost, max } => format!(
                "the query would cost {cost}; the limit is {max}. Ask for smaller pages (first) or fewer nested lists / 查询代价{cost}超过上限{max}，请减少每页数量或嵌套列表"
            ),
        }
    }

    pub fn to_server_error(&self) -> ServerError {
        let mut e = ServerError::new(self.message(), None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", self.code());
        if let Refusal::CostExceeded { cost, max } = self {
            ext.set("cost", *cost);
            ext.set("limit", *max);
        }
        e.extensions = Some(ext);
        e
    }
}

/// Checks the text of a document without parsing it: size, tokens and bracket nesting. Linear, no recursion.
pub fn scan(text: &str, limits: &Limits) -> Result<(), Refusal> {
    if text.len() > limits.max_bytes {
        return Err(Refusal::TooLarge { bytes: text.len(), max: limits.max_bytes });
    }
    let b = text.as_bytes();
    let (mut i, mut depth, mut tokens) = (0usize, 0usize, 0usize);
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    i += if b[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 3;
                tokens += 1;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                tokens += 1;
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > limits.max_nesting {
                    return Err(Refusal::TooDeep { max: limits.max_nesting });
                }
                i += 1;
                tokens += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
                tokens += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'-' | b'.' | b'+')) {
                    i += 1;
                }
                tokens += 1;
            }
            _ => {
                i += 1;
                tokens += 1;
            }
        }
        if tokens > limits.max_tokens {
            return Err(Refusal::TooManyTokens { max: limits.max_tokens });
        }
    }
    Ok(())
}

/// What the checks need to know of a field, read from the schema: its type, whether it is a list or a
/// connection, its page argument's default, and its arguments' types.
#[derive(Clone, Debug)]
struct FieldCost {
    ty: String,
    list: bool,
    /// Its type has `edges`: a page of items.
    connection: bool,
    /// `Some(default)` when the field takes `first` or `last`.
    page: Option<Option<i64>>,
    /// Argument → named type, where an `Int` literal must fit in 32 bits.
    args: HashMap<String, String>,
}

/// The schema as the cost check needs it: `(type, field) → FieldCost`, and the root type names.
///
/// Cost of a selection set = the sum over its fields of `1 + items × cost(children)`, where `items` is
/// the page size for a connection's `edges` and `nodes` and for a list taking `first`/`last` (the
/// argument, else its default, else [`DEFAULT_PAGE`], at most [`MAX_PAGE`]), [`UNPAGED_LIST_ITEMS`] for
/// another list of objects, and 1 for everything else — a connection's `totalCount`, `pageInfo` and
/// `facets` once, and introspection lists, which describe the schema, whose size is fixed.
#[derive(Clone, Debug, Default)]
pub struct CostModel {
    /// Type → field → what the checks need (looked up without allocating, on every request).
    fields: HashMap<String, HashMap<String, FieldCost>>,
    /// Input type → field → named type.
    inputs: HashMap<String, HashMap<String, String>>,
    roots: [String; 3],
}

impl CostModel {
    pub fn from_sdl(sdl: &str) -> CostModel {
        let mut model = CostModel {
            fields: HashMap::new(),
            inputs: HashMap::new(),
            roots: ["Query".into(), "Mutation".into(), "Subscription".into()],
        };
        let Ok(doc): Result<ServiceDocument, _> = async_graphql::parser::parse_schema(sdl) else { return model };
        for def in doc.definitions {
            match def {
                TypeSystemDefinition::Schema(s) => {
                    let s = s.node;
                    for (slot, name) in [(0, s.query), (1, s.mutation), (2, s.subscription)] {
                        if let Some(n) = name {
                            model.roots[slot] = n.node.to_string();
                        }
                    }
                }
                TypeSystemDefinition::Type(t) => model.add_type(&t.node),
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        let connections: std::collections::HashSet<String> =
            model.fields.iter().filter(|(_, f)| f.contains_key("edges")).map(|(t, _)| t.clone()).collect();
        for f in model.fields.values_mut().flat_map(|fs| fs.values_mut()) {
            f.connection = connections.contains(&f.ty);
        }
        model
    }

    fn field(&self, ty: &str, name: &str) -> Option<&FieldCost> {
        self.fields.get(ty)?.get(name)
    }

    fn add_type(&mut self, t: &TypeDefinition) {
        let fields = match &t.kind {
            TypeKind::Object(o) => &o.fields,
            TypeKind::Interface(i) => &i.fields,
            TypeKind::InputObject(i) => {
                let fields = i.fields.iter().map(|f| (f.node.name.node.to_string(), named(&f.node.ty.node).0));
                self.inputs.insert(t.name.node.to_string(), fields.collect());
                return;
            }
            _ => return,
        };
        for f in fields {
            let f = &f.node;
            let (ty, list) = named(&f.ty.node);
            let page = f
                .arguments
                .iter()
                .find(|a| matches!(a.node.name.node.as_str(), "first" | "last"))
                .map(|a| a.node.default_value.as_ref().and_then(|d| int(&d.node)));
            let args = f.arguments.iter().map(|a| (a.node.name.node.to_string(), named(&a.node.ty.node).0)).collect();
            self.fields
                .entry(t.name.node.to_string())
                .or_default()
                .insert(f.name.node.to_string(), FieldCost { ty, list, connection: false, page, args });
        }
    }
}

/// The named type under any list and non-null wrappers, and whether a list wraps it.
fn named(ty: &Type) -> (String, bool) {
    let mut base = &ty.base;
    let mut list = false;
    while let BaseType::List(inner) = base {
        list = true;
        base = &inner.base;
    }
    match base {
        BaseType::Named(n) => (n.to_string(), list),
        BaseType::List(_) => unreachable!("unwrapped above"),
    }
}

fn int(v: &ConstValue) -> Option<i64> {
    match v {
        ConstValue::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// Selections and cost of a set, spreads read from what was already counted for each fragment.
#[derive(Clone, Copy, Default)]
struct Tally {
    selections: u64,
    cost: u64,
}

struct Counter<'a> {
    model: &'a CostModel,
    variables: &'a Variables,
    ops: Vec<&'a OperationDefinition>,
    fragments: HashMap<&'a str, Tally>,
}

impl Counter<'_> {
    /// `page`: inside a connection of that page size, its `edges` and `nodes` count that many times (and a
    /// fragment spread there counts whole that many times, since it may hold them).
    fn set(&self, set: &SelectionSet, parent: &str, page: Option<u64>) -> Tally {
        let mut t = Tally::default();
        for item in &set.items {
            let add = match &item.node {
                Selection::Field(f) => self.field(&f.node, parent, page),
                Selection::FragmentSpread(s) => {
                    let f = self.fragments.get(s.node.fragment_name.node.as_str()).copied().unwrap_or_default();
                    Tally { selections: f.selections, cost: f.cost.saturating_mul(page.unwrap_or(1)) }
                }
                Selection::InlineFragment(f) => {
                    let ty = f.node.type_condition.as_ref().map(|c| c.node.on.node.as_str()).unwrap_or(parent);
                    self.set(&f.node.selection_set.node, ty, page)
                }
            };
            t.selections = t.selections.saturating_add(add.selections);
            t.cost = t.cost.saturating_add(add.cost);
        }
        t
    }

    fn field(&self, f: &Field, parent: &str, page: Option<u64>) -> Tally {
        let name = f.name.node.as_str();
        let def = self.model.field(parent, name);
        let child_ty = def.map(|d| d.ty.as_str()).unwrap_or("");
        let items_of_page = matches!(name, "edges" | "nodes");
        let (children, items) = match def {
            Some(FieldCost { page: Some(default), .. }) => {
                let given = f
                    .arguments
                    .iter()
                    .find(|(n, _)| matches!(n.node.as_str(), "first" | "last"))
                    .and_then(|(_, v)| resolve(&v.node, self.variables, &self.ops))
                    .and_then(|v| int(&v));
                let n = given.or(*default).unwrap_or(DEFAULT_PAGE).clamp(0, MAX_PAGE) as u64;
                if def.is_some_and(|d| d.connection) {
                    // A connection: its edges and nodes are the page; totalCount, pageInfo and facets once.
                    (self.set(&f.selection_set.node, child_ty, Some(n)), 1)
                } else {
                    (self.set(&f.selection_set.node, child_ty, None), n)
                }
            }
            _ if items_of_page => (self.set(&f.selection_set.node, child_ty, None), page.unwrap_or(1)),
            Some(FieldCost { list: true, .. })
                if !parent.starts_with("__") && !f.selection_set.node.items.is_empty() =>
            {
                (self.set(&f.selection_set.node, child_ty, None), UNPAGED_LIST_ITEMS)
            }
            _ => (self.set(&f.selection_set.node, child_ty, None), 1),
        };
        Tally {
            selections: children.selections.saturating_add(1),
            cost: items.saturating_mul(children.cost).saturating_add(1),
        }
    }
}

/// An argument's value: the literal, or the variable's (the request's, else the operation's default).
fn resolve(v: &Value, variables: &Variables, ops: &[&OperationDefinition]) -> Option<ConstValue> {
    match v {
        Value::Variable(name) => variables.get(name).cloned().or_else(|| {
            ops.iter()
                .flat_map(|op| op.variable_definitions.iter())
                .find(|d| d.node.name.node == *name)
                .and_then(|d| d.node.default_value.as_ref())
                .map(|d| d.node.clone())
        }),
        other => other.clone().into_const(),
    }
}

/// A connection's page arguments, checked before anything runs: a page size out of range or a cursor that
/// is not one would otherwise fail the (non-null) connection field during execution, after other fields
/// had run, and leave a half answer.
fn check_page(f: &Field, variables: &Variables, ops: &[&OperationDefinition]) -> Result<(), Refusal> {
    for (name, v) in &f.arguments {
        let arg = name.node.as_str();
        match (arg, resolve(&v.node, variables, ops)) {
            ("first" | "last", Some(ConstValue::Number(n)))
                if !n.as_i64().is_some_and(|n| (0..=MAX_PAGE).contains(&n)) =>
            {
                return Err(Refusal::PageSize { argument: arg.to_owned() })
            }
            ("after" | "before", Some(ConstValue::String(c))) => {
                if !super::connection::is_cursor_of(&c, f.name.node.as_str()) {
                    return Err(Refusal::BadCursor { argument: arg.to_owned() });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// `Int` literals in arguments, checked against their declared types (lists and input objects included):
/// the spec's Int is 32 bits, and a larger literal is a validation error, not a field error. And the page
/// arguments of connections ([`check_page`]).
fn check_arguments(
    set: &SelectionSet,
    parent: &str,
    model: &CostModel,
    variables: &Variables,
    ops: &[&OperationDefinition],
) -> Result<(), Refusal> {
    fn value(v: &Value, ty: &str, model: &CostModel, at: &str) -> Result<(), Refusal> {
        match v {
            Value::Number(n) if ty == "Int" && n.as_i64().and_then(|x| i32::try_from(x).ok()).is_none() => {
                Err(Refusal::IntOutOfRange { argument: at.to_owned() })
            }
            Value::List(items) => items.iter().try_for_each(|i| value(i, ty, model, at)),
            Value::Object(fields) => {
                let Some(types) = model.inputs.get(ty) else { return Ok(()) };
                fields.iter().try_for_each(|(name, v)| match types.get(name.as_str()) {
                    Some(t) => value(v, t, model, &format!("{at}.{name}")),
                    None => Ok(()),
                })
            }
            _ => Ok(()),
        }
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                let def = model.field(parent, f.node.name.node.as_str());
                if let Some(def) = def {
                    for (name, v) in &f.node.arguments {
                        if let Some(t) = def.args.get(name.node.as_str()) {
                            value(&v.node, t, model, name.node.as_str())?;
                        }
                    }
                    if def.connection {
                        check_page(&f.node, variables, ops)?;
                    }
                }
                let ty = def.map(|d| d.ty.as_str()).unwrap_or("");
                check_arguments(&f.node.selection_set.node, ty, model, variables, ops)?;
            }
            Selection::InlineFragment(f) => {
                let ty = f.node.type_condition.as_ref().map(|c| c.node.on.node.as_str()).unwrap_or(parent);
                check_arguments(&f.node.selection_set.node, ty, model, variables, ops)?;
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    Ok(())
}

/// The fragments each fragment spreads, directly.
fn spreads<'a>(set: &'a SelectionSet, out: &mut Vec<&'a str>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => spreads(&f.node.selection_set.node, out),
            Selection::FragmentSpread(s) => out.push(s.node.fragment_name.node.as_str()),
            Selection::InlineFragment(f) => spreads(&f.node.selection_set.node, out),
        }
    }
}

/// Aliased fields and the most directives in one place, as written (fragments counted once).
fn aliases_and_directives(set: &SelectionSet, aliases: &mut usize, directives: &mut usize) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                *aliases += usize::from(f.node.alias.is_some());
                *directives = (*directives).max(f.node.directives.len());
                aliases_and_directives(&f.node.selection_set.node, aliases, directives);
            }
            Selection::FragmentSpread(s) => *directives = (*directives).max(s.node.directives.len()),
            Selection::InlineFragment(f) => {
                *directives = (*directives).max(f.node.directives.len());
                aliases_and_directives(&f.node.selection_set.node, aliases, directives);
            }
        }
    }
}

impl Limits {
    /// Checks a parsed document; returns the cost of the operation that would run (with no
    /// `operation_name` and several operations, the dearest one). `name_known` says whether the caller
    /// knows the operation name (over WebSocket it is checked later by the executor).
    pub fn check(
        &self,
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        name_known: bool,
        variables: &Variables,
        model: &CostModel,
    ) -> Result<u64, Refusal> {
        let ops: Vec<(Option<&Name>, &Positioned<OperationDefinition>)> = doc.operations.iter().collect();
        // Aliases and directives, everywhere once.
        let (mut aliases, mut directives) = (0usize, 0usize);
        for (_, op) in &ops {
            directives = directives.max(op.node.directives.len());
            for v in &op.node.variable_definitions {
                directives = directives.max(v.node.directives.len());
            }
            aliases_and_directives(&op.node.selection_set.node, &mut aliases, &mut directives);
        }
        for f in doc.fragments.values() {
            directives = directives.max(f.node.directives.len());
            aliases_and_directives(&f.node.selection_set.node, &mut aliases, &mut directives);
        }
        if aliases > self.max_aliases {
            return Err(Refusal::TooManyAliases { aliases, max: self.max_aliases });
        }
        if directives > self.max_directives {
            return Err(Refusal::TooManyDirectives { directives, max: self.max_directives });
        }

        // Fragments in an order where each comes after those it spreads (an explicit stack: a chain of a
        // thousand fragments must not recurse a thousand deep), refusing cycles and unknown names.
        let mut order: Vec<&str> = Vec::with_capacity(doc.fragments.len());
        let mut state: HashMap<&str, u8> = HashMap::new(); // 1: on the stack, 2: done
        for root in doc.fragments.keys() {
            let root = root.as_str();
            if state.contains_key(root) {
                continue;
            }
            let mut stack: Vec<(&str, Vec<&str>)> = vec![];
            let deps = |name: &str| -> Vec<&str> {
                let mut out = vec![];
                if let Some(f) = doc.fragments.get(name) {
                    spreads(&f.node.selection_set.node, &mut out);
                }
                out
            };
            state.insert(root, 1);
            stack.push((root, deps(root)));
            while let Some((name, pending)) = stack.last_mut() {
                let name = *name;
                match pending.pop() {
                    Some(next) => match state.get(next) {
                        Some(1) => return Err(Refusal::FragmentCycle { fragment: next.to_owned() }),
                        Some(_) => {}
                        None => {
                            let Some((key, _)) = doc.fragments.get_key_value(next) else {
                                return Err(Refusal::UnknownFragment { fragment: next.to_owned() });
                            };
                            let key = key.as_str();
                            state.insert(key, 1);
                            let d = deps(key);
                            stack.push((key, d));
                        }
                    },
                    None => {
                        state.insert(name, 2);
                        order.push(name);
                        stack.pop();
                    }
                }
            }
        }

        let mut counter = Counter {
            model,
            variables,
            ops: ops.iter().map(|(_, op)| &op.node).collect(),
            fragments: HashMap::with_capacity(order.len()),
        };
        let mut selections: u64 = 0;
        for name in order {
            let f = &doc.fragments[name].node;
            let t = counter.set(&f.selection_set.node, f.type_condition.node.on.node.as_str(), None);
            selections = selections.saturating_add(t.selections);
            counter.fragments.insert(name, t);
        }
        // Spreads of fragments that do not exist inside operations.
        for (_, op) in &ops {
            let mut out = vec![];
            spreads(&op.node.selection_set.node, &mut out);
            if let Some(missing) = out.into_iter().find(|n| !doc.fragments.contains_key(*n)) {
                return Err(Refusal::UnknownFragment { fragment: missing.to_owned() });
            }
        }
        for f in doc.fragments.values() {
            let on = f.node.type_condition.node.on.node.as_str();
            check_arguments(&f.node.selection_set.node, on, model, variables, &counter.ops)?;
        }
        let mut costs = Vec::with_capacity(ops.len());
        for (name, op) in &ops {
            let root = &model.roots[op.node.ty as usize];
            check_arguments(&op.node.selection_set.node, root, model, variables, &counter.ops)?;
            let t = counter.set(&op.node.selection_set.node, root, None);
            selections = selections.saturating_add(t.selections);
            costs.push((name.map(|n| n.as_str()), t.cost));
        }
        if selections > self.max_selections {
            return Err(Refusal::TooManySelections { selections, max: self.max_selections });
        }

        let cost = match (&doc.operations, operation_name) {
            (DocumentOperations::Single(_), _) => costs.first().map(|c| c.1).unwrap_or(0),
            (DocumentOperations::Multiple(_), Some(wanted)) => match costs.iter().find(|c| c.0 == Some(wanted)) {
                Some(c) => c.1,
                None => return Err(Refusal::UnknownOperation { name: wanted.chars().take(64).collect() }),
            },
            (DocumentOperations::Multiple(_), None) if costs.len() == 1 => costs[0].1,
            (DocumentOperations::Multiple(_), None) if name_known => return Err(Refusal::OperationNameRequired),
            (DocumentOperations::Multiple(_), None) => costs.iter().map(|c| c.1).max().unwrap_or(0),
        };
        if cost > self.max_cost {
            return Err(Refusal::CostExceeded { cost, max: self.max_cost });
        }
        Ok(cost)
    }
}

/// Put into a request's data by a transport that already checked its document (HTTP does, before it
/// hands a parsed document to the executor).
#[derive(Clone, Copy)]
pub struct Checked;

/// The checks for transports that hand the executor text (WebSocket), and the client codes for what the
/// executor's own parse-time checks (recursion depth, directives) refuse.
pub struct DocumentGuard {
    pub limits: Limits,
    pub model: Arc<CostModel>,
}

impl ExtensionFactory for DocumentGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentGuardExtension { limits: self.limits.clone(), model: self.model.clone() })
    }
}

struct DocumentGuardExtension {
    limits: Limits,
    model: Arc<CostModel>,
}

fn refused(ctx: &ExtensionContext<'_>, e: ServerError) -> ServerError {
    if let Some(flag) = ctx.data_opt::<ValidationFailed>() {
        flag.0.store(true, Ordering::Relaxed);
    }
    e
}

#[async_trait::async_trait]
impl Extension for DocumentGuardExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if ctx.data_opt::<Checked>().is_none() {
            scan(query, &self.limits).map_err(|r| refused(ctx, r.to_server_error()))?;
            let doc = async_graphql::parser::parse_query(query).map_err(|e| {
                let mut e: ServerError = e.into();
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", "GRAPHQL_PARSE_FAILED");
                e.extensions = Some(ext);
                refused(ctx, e)
            })?;
            self.limits
                .check(&doc, None, false, variables, &self.model)
                .map_err(|r| refused(ctx, r.to_server_error()))?;
        }
        next.run(ctx, query, variables).await.map_err(|mut e| {
            if e.extensions.is_none() {
                let mut ext = async_graphql::ErrorExtensionValues::default();
                ext.set("code", "GRAPHQL_VALIDATION_FAILED");
                e.extensions = Some(ext);
            }
            refused(ctx, e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> CostModel {
        CostModel::from_sdl(&crate::graphql::sdl())
    }

    fn check(doc: &str, vars: serde_json::Value) -> Result<u64, Refusal> {
        let limits = Limits::default();
        scan(doc, &limits)?;
        let parsed = async_graphql::parser::parse_query(doc).expect("parses");
        limits.check(&parsed, None, true, &Variables::from_json(vars), &model())
    }

    #[test]
    fn deep_brackets_are_refused_before_parsing() {
        let limits = Limits::default();
        for (open, close) in [("[", "]"), ("{a:", "}"), ("(", ")")] {
            let doc = format!("{{ a(x: {}1{}) }}", open.repeat(5000), close.repeat(5000));
            assert_eq!(scan(&doc, &limits), Err(Refusal::TooDeep { max: 64 }));
        }
        let var_type = format!("query($v: {}Int{}) {{ a }}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(scan(&var_type, &limits), Err(Refusal::TooDeep { max: 64 }));
        // Brackets inside strings and comments do not count.
        let quoted = format!("{{ a(x: \"{}\") }} # {}\n", "[".repeat(5000), "{".repeat(5000));
        assert_eq!(scan(&quoted, &limits), Ok(()));
        let block = format!("{{ a(x: \"\"\"{}\\\"\"\" \"\"\") }}", "(".repeat(5000));
        assert_eq!(scan(&block, &limits), Ok(()));
        // Exactly at the limit still parses, on a small stack: the parser's recursion is bounded by it.
        let at_limit = format!("{{ a(x: {}1{}) }}", "[".repeat(62), "]".repeat(62));
        assert_eq!(scan(&at_limit, &limits), Ok(()));
        let parsed = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(move || async_graphql::parser::parse_query(&at_limit).is_ok())
            .unwrap()
            .join()
            .unwrap();
        assert!(parsed);
    }

    #[test]
    fn size_and_tokens_are_bounded() {
        let limits = Limits::default();
        let comments = format!("{{ a }}\n{}", "# 注释\n".repeat(100_000));
        assert!(matches!(scan(&comments, &limits), Err(Refusal::TooLarge { .. })));
        let tokens = format!("{{ {} }}", "a ".repeat(20_000));
        assert_eq!(scan(&tokens, &limits), Err(Refusal::TooManyTokens { max: 15_000 }));
    }

    #[test]
    fn fragment_fan_out_is_counted_without_spreading() {
        // F0 selects one field; each Fk spreads F(k-1) twice: 2^k selections once spread.
        let mut doc = String::from("query { viewer { ...F40 } } fragment F0 on User { name }");
        for k in 1..=40 {
            doc.push_str(&format!(" fragment F{k} on User {{ ...F{p} ...F{p} }}", p = k - 1));
        }
        let start = std::time::Instant::now();
        assert!(matches!(check(&doc, serde_json::json!({})), Err(Refusal::TooManySelections { .. })));
        assert!(start.elapsed() < std::time::Duration::from_secs(1), "counting is linear");
        // A small fan-out is fine.
        let mut small = String::from("query { viewer { ...F3 } } fragment F0 on User { name }");
        for k in 1..=3 {
            small.push_str(&format!(" fragment F{k} on User {{ ...F{p} ...F{p} }}", p = k - 1));
        }
        assert!(check(&small, serde_json::json!({})).is_ok());
    }

    #[test]
    fn cycles_and_unknown_fragments_are_refused() {
        let cycle = "{ viewer { ...A } } fragment A on User { ...B } fragment B on User { name ...A }";
        assert!(matches!(check(cycle, serde_json::json!({})), Err(Refusal::FragmentCycle { .. })));
        let own = "{ viewer { ...A } } fragment A on User { ...A }";
        assert!(matches!(check(own, serde_json::json!({})), Err(Refusal::FragmentCycle { .. })));
        assert!(matches!(check("{ viewer { ...Nope } }", serde_json::json!({})), Err(Refusal::UnknownFragment { .. })));
        // A chain of many fragments (no cycle) is walked without deep recursion.
        let mut chain = String::from("{ viewer { ...F0 } }");
        for k in 0..3000 {
            chain.push_str(&format!(" fragment F{k} on User {{ ...F{} }}", k + 1));
        }
        chain.push_str(" fragment F3000 on User { name }");
        let limits = Limits { max_tokens: 1_000_000, max_bytes: 1 << 20, ..Limits::default() };
        let parsed = async_graphql::parser::parse_query(&chain).unwrap();
        let model = model();
        let r = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || limits.check(&parsed, None, true, &Variables::default(), &model))
            .unwrap()
            .join()
            .unwrap();
        assert!(r.is_ok(), "{r:?}");
    }

    #[test]
    fn cost_is_page_size_times_what_a_page_selects() {
        let one = check("{ proposals(first: 10) { edges { node { id title } } } }", serde_json::json!({})).unwrap();
        let ten = check("{ proposals(first: 100) { edges { node { id title } } } }", serde_json::json!({})).unwrap();
        assert!(ten > 9 * one, "{one} vs {ten}");
        // From a variable, and the default page when absent.
        let var = check(
            "query($n: Int) { proposals(first: $n) { edges { node { id title } } } }",
            serde_json::json!({"n": 100}),
        )
        .unwrap();
        assert_eq!(var, ten);
        let default = check("{ proposals { edges { node { id title } } } }", serde_json::json!({})).unwrap();
        assert_eq!(
            default,
            check("{ proposals(first: 20) { edges { node { id title } } } }", serde_json::json!({})).unwrap()
        );
        // Nested pages multiply; aliases add up; the attack from the issue is refused with its figures.
        let attack = format!(
            "{{ {} }}",
            (0..40)
                .map(|i| format!("a{i}: proposals(first: 100) {{ edges {{ node {{ id title events(first: 100) {{ edges {{ node {{ kind createdAt }} }} }} }} }} }}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        match check(&attack, serde_json::json!({})) {
            Err(Refusal::CostExceeded { cost, max }) => assert!(cost > 1_000_000 && max == 10_000, "{cost}"),
            other => panic!("{other:?}"),
        }
        // Fragments cost what they select, wherever they are spread.
        let frag = check(
            "{ proposals(first: 100) { edges { node { ...P } } } } fragment P on Proposal { events(first: 100) { edges { node { kind } } } }",
            serde_json::json!({}),
        );
        assert!(matches!(frag, Err(Refusal::CostExceeded { .. })), "{frag:?}");
        // A connection's totals and facets count once; its edges count per item. A search page of 100 with
        // facets and highlights, as the page and the tests send it, stays well under the limit.
        let search = check(
            "{ searchProposals(query: \"余热\", first: 100) { totalCount pageInfo { hasNextPage endCursor }
                facets { industry { value count } category { value count } status { value count } enterprise { enterprise { name } count } }
                edges { cursor score highlights { field snippet } node { id title status authorsHidden authors { name } } } } }",
            serde_json::json!({}),
        )
        .unwrap();
        assert!(search < 6_000, "{search}");
        // Edges moved into a fragment on the connection still count per item.
        let inline = check(
            "{ proposals(first: 100) { edges { node { events(first: 100) { edges { node { kind } } } } } } }",
            serde_json::json!({}),
        );
        let spread = check(
            "{ proposals(first: 100) { ...C } } fragment C on ProposalConnection { edges { node { events(first: 100) { edges { node { kind } } } } } }",
            serde_json::json!({}),
        );
        assert!(matches!(inline, Err(Refusal::CostExceeded { .. })), "{inline:?}");
        assert!(matches!(spread, Err(Refusal::CostExceeded { .. })), "{spread:?}");
        // Introspection, as GraphiQL and code generators send it, is cheap.
        let introspection = "query { __schema { types { name fields(includeDeprecated: true) { name args { name type { name kind ofType { name kind ofType { name } } } } type { name kind ofType { name kind } } } } } }";
        assert!(check(introspection, serde_json::json!({})).unwrap() < 1000);
    }

    #[test]
    fn aliases_directives_and_operations() {
        let aliases = format!(
            "{{ {} }}",
            (0..51).map(|i| format!("a{i}: evaluationCriteria {{ version }}")).collect::<Vec<_>>().join(" ")
        );
        assert_eq!(check(&aliases, serde_json::json!({})), Err(Refusal::TooManyAliases { aliases: 51, max: 50 }));
        let directives = format!("{{ viewer {} {{ name }} }}", "@include(if: true) ".repeat(17));
        assert_eq!(
            check(&directives, serde_json::json!({})),
            Err(Refusal::TooManyDirectives { directives: 17, max: 16 })
        );
        let on_spread =
            format!("{{ viewer {{ ...F {} }} }} fragment F on User {{ name }}", "@skip(if: false) ".repeat(17));
        assert!(matches!(check(&on_spread, serde_json::json!({})), Err(Refusal::TooManyDirectives { .. })));
        let two = "query A { viewer { name } } query B { viewer { name } }";
        assert_eq!(check(two, serde_json::json!({})), Err(Refusal::OperationNameRequired));
        let parsed = async_graphql::parser::parse_query(two).unwrap();
        let r = Limits::default().check(&parsed, Some("C"), true, &Variables::default(), &model());
        assert_eq!(r, Err(Refusal::UnknownOperation { name: "C".into() }));
        assert!(Limits::default().check(&parsed, Some("B"), true, &Variables::default(), &model()).is_ok());
        // Int literals beyond 32 bits, in arguments and inside input objects; Floats may be large.
        let big = check("{ proposals(first: 5000000000) { totalCount } }", serde_json::json!({}));
        assert_eq!(big, Err(Refusal::IntOutOfRange { argument: "first".into() }));
        let nested =
            check("{ impactSummary { leaderboard(of: WORKERS, first: -2147483649) { rank } } }", serde_json::json!({}));
        assert!(matches!(nested, Err(Refusal::IntOutOfRange { .. })), "{nested:?}");
        let savings = |kwh: &str| {
            format!("mutation {{ createProposal(input: {{proposal: {{title: \"t\", body: \"b\", expectedSavings: {{electricityKwh: {kwh}}}}}}}) {{ userErrors {{ code }} }} }}")
        };
        assert!(check(&savings("50000000000"), serde_json::json!({})).is_ok(), "a Float may be large");
        // The walk reaches into input objects (a Float field does not refuse, so probe with the model).
        let model = model();
        assert_eq!(model.inputs["SavingsInput"]["electricityKwh"], "Float");
        let proposals = model.field(&model.roots[0], "proposals").unwrap();
        assert_eq!(proposals.args["first"], "Int");
        assert!(proposals.connection && proposals.page == Some(None));
    }
}
