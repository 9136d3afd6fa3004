//! Typed views of PostgreSQL's node trees: how code above `pg/` reads an analyzed `Query` and
//! its expressions (and how the rewrites edit a copy of one) without naming a raw binding.
//!
//! Rules:
//! - A [`Node`] is a non-null pointer to a node of a tree PostgreSQL built (or a copy of one),
//!   palloc'd in the memory context of the current planning call. Handles are `Copy` and carry
//!   no lifetime, like PostgreSQL's own `Node *`: the tree lives as long as that context, and the
//!   front end keeps no handle past the planner hook's return.
//! - A typed view (`Var`, `OpExpr`, `Query`, ...) is made only after its tag was checked
//!   ([`Node::kind`], `Node::as_*`) or from a field or list PostgreSQL declares of that type, so
//!   its accessors read the fields of the struct the tag names. An accessor is a plain field
//!   read: none allocates, none raises.
//! - A getter of a pointer field returns `Option<Node>` (NULL is `None`), of a `List` a `Vec`
//!   (NIL is empty); setters store handles and lists built by [`List`] into a tree this planning
//!   call owns (a copy of the analyzed query, never PostgreSQL's original).
//! - Functions that walk or inspect a whole tree through PostgreSQL (`exprType`,
//!   `contain_volatile_functions`, ...) run under `guard`: a PostgreSQL ERROR comes back as
//!   `Err`, never dropped.
//! - Where PostgreSQL versions differ (16 moved permissions into `RTEPermissionInfo`), a view
//!   presents one shape ([`Permission`]) and the version-specific read lives in its accessor.

mod analysis;
mod expr;
mod make;
mod query;

pub use analysis::*;
pub use expr::*;
pub use make::*;
pub use query::*;

pub use super::walk::Visit;

/// A window frame's options (`WindowClause::frame_options`), by their C names.
#[rustfmt::skip]
pub use super::sys::{
    FRAMEOPTION_NONDEFAULT, FRAMEOPTION_ROWS, FRAMEOPTION_GROUPS,
    FRAMEOPTION_EXCLUDE_CURRENT_ROW, FRAMEOPTION_EXCLUDE_GROUP, FRAMEOPTION_EXCLUDE_TIES,
    FRAMEOPTION_START_UNBOUNDED_PRECEDING, FRAMEOPTION_START_CURRENT_ROW,
    FRAMEOPTION_START_OFFSET_PRECEDING, FRAMEOPTION_START_OFFSET_FOLLOWING,
    FRAMEOPTION_END_UNBOUNDED_FOLLOWING, FRAMEOPTION_END_CURRENT_ROW,
    FRAMEOPTION_END_OFFSET_PRECEDING, FRAMEOPTION_END_OFFSET_FOLLOWING,
};

/// `query_tree_walker` flag: visit each range-table entry before walking into it.
pub const QTW_EXAMINE_RTES_BEFORE: u32 = sys::QTW_EXAMINE_RTES_BEFORE;

use std::ptr::NonNull;

use super::error::PgResult;
use super::nodes;
use super::sys;

pub type Oid = sys::Oid;
pub type Datum = sys::Datum;

/// A node of a PostgreSQL tree (never NULL).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Node(NonNull<sys::Node>);

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({:?} at {:p})", self.tag(), self.0)
    }
}

impl Node {
    /// The node `p` points to; `None` for NULL.
    ///
    /// For code inside `pg/` (a pointer PostgreSQL handed over): the pointer must be
    /// NULL or point to a valid node of a tree living in the current planning call.
    pub(in crate::pg) fn from_ptr<T>(p: *mut T) -> Option<Node> {
        NonNull::new(p as *mut sys::Node).map(Node)
    }

    /// The node `p` points to; NULL is an internal error (for code inside `pg/`).
    pub(in crate::pg) fn of<T>(p: *mut T) -> PgResult<Node> {
        Node::from_ptr(p).ok_or_else(|| super::PgError::internal("a NULL node where a node was expected"))
    }

    /// The raw pointer, for PostgreSQL's functions.
    pub(in crate::pg) fn as_ptr(self) -> *mut sys::Node {
        self.0.as_ptr()
    }

    /// The node's tag.
    pub fn tag(self) -> sys::NodeTag {
        // SAFETY: a Node points to a valid node (module rules); the tag is its first field.
        unsafe { nodes::tag(self.as_ptr()) }
    }

    /// The node as its typed view.
    pub fn kind(self) -> Kind {
        match self.tag() {
            sys::NodeTag_T_Var => Kind::Var(Var(self.0.cast())),
            sys::NodeTag_T_Const => Kind::Const(Const(self.0.cast())),
            sys::NodeTag_T_Param => Kind::Param(Param(self.0.cast())),
            sys::NodeTag_T_OpExpr => Kind::OpExpr(OpExpr(self.0.cast())),
            sys::NodeTag_T_FuncExpr => Kind::FuncExpr(FuncExpr(self.0.cast())),
            sys::NodeTag_T_BoolExpr => Kind::BoolExpr(BoolExpr(self.0.cast())),
            sys::NodeTag_T_NullTest => Kind::NullTest(NullTest(self.0.cast())),
            sys::NodeTag_T_CaseExpr => Kind::CaseExpr(CaseExpr(self.0.cast())),
            sys::NodeTag_T_CoalesceExpr => Kind::CoalesceExpr(CoalesceExpr(self.0.cast())),
            sys::NodeTag_T_RelabelType => Kind::RelabelType(RelabelType(self.0.cast())),
            sys::NodeTag_T_CollateExpr => Kind::CollateExpr(CollateExpr(self.0.cast())),
            sys::NodeTag_T_ScalarArrayOpExpr => Kind::ScalarArrayOpExpr(ScalarArrayOpExpr(self.0.cast())),
            sys::NodeTag_T_Aggref => Kind::Aggref(Aggref(self.0.cast())),
            sys::NodeTag_T_WindowFunc => Kind::WindowFunc(WindowFunc(self.0.cast())),
            sys::NodeTag_T_GroupingFunc => Kind::GroupingFunc(GroupingFunc(self.0.cast())),
            sys::NodeTag_T_SubLink => Kind::SubLink(SubLink(self.0.cast())),
            sys::NodeTag_T_Query => Kind::Query(Query(self.0.cast())),
            sys::NodeTag_T_RangeTblRef => Kind::RangeTblRef(RangeTblRef(self.0.cast())),
            sys::NodeTag_T_FromExpr => Kind::FromExpr(FromExpr(self.0.cast())),
            sys::NodeTag_T_JoinExpr => Kind::JoinExpr(JoinExpr(self.0.cast())),
            sys::NodeTag_T_RangeTblEntry => Kind::RangeTblEntry(RangeTblEntry(self.0.cast())),
            sys::NodeTag_T_SetOperationStmt => Kind::SetOperationStmt(SetOperationStmt(self.0.cast())),
            _ => Kind::Other,
        }
    }

    /// Is the node a part of an expression that is not one itself: an argument list, a CASE
    /// arm (`WHEN ... THEN ...`)? Expression functions (`exprType`, walkers started on it)
    /// refuse those.
    pub fn is_clause_part(self) -> bool {
        matches!(self.tag(), sys::NodeTag_T_List | sys::NodeTag_T_CaseWhen)
    }

    /// The elements of a `List` node (an implicit-AND qual list, say); None for other nodes.
    pub fn list_elements(self) -> Option<Vec<Node>> {
        (self.tag() == sys::NodeTag_T_List)
            .then(|| elements(self.as_ptr() as *mut sys::List).into_iter().map(Node).collect())
    }

    /// The function and arguments of a function call or an operator (`FuncExpr`, `OpExpr`).
    pub fn call(self) -> Option<(Oid, Vec<Node>)> {
        match self.kind() {
            Kind::FuncExpr(f) => Some((f.funcid(), f.args())),
            Kind::OpExpr(o) => Some((o.opfuncid(), o.args())),
            _ => None,
        }
    }

    /// copyObject(node).
    pub fn copy(self) -> PgResult<Node> {
        Node::of(nodes::copy(self.as_ptr())?)
    }

    /// equal(a, b).
    pub fn equal(self, other: Node) -> PgResult<bool> {
        nodes::equal(self.as_ptr(), other.as_ptr())
    }
}

/// What a node is, as a typed view. Node types the front end does not read are `Other`.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Var(Var),
    Const(Const),
    Param(Param),
    OpExpr(OpExpr),
    FuncExpr(FuncExpr),
    BoolExpr(BoolExpr),
    NullTest(NullTest),
    CaseExpr(CaseExpr),
    CoalesceExpr(CoalesceExpr),
    RelabelType(RelabelType),
    CollateExpr(CollateExpr),
    ScalarArrayOpExpr(ScalarArrayOpExpr),
    Aggref(Aggref),
    WindowFunc(WindowFunc),
    GroupingFunc(GroupingFunc),
    SubLink(SubLink),
    Query(Query),
    RangeTblRef(RangeTblRef),
    FromExpr(FromExpr),
    JoinExpr(JoinExpr),
    RangeTblEntry(RangeTblEntry),
    SetOperationStmt(SetOperationStmt),
    Other,
}

/// A PostgreSQL `List` being built (NIL to begin with): for setters of list fields.
#[derive(Clone, Copy, Debug)]
pub struct List(*mut sys::List);

impl List {
    pub const NIL: List = List(std::ptr::null_mut());

    /// `lappend(list, node)`.
    pub fn append(self, node: impl Into<Node>) -> PgResult<List> {
        Ok(List(nodes::append(self.0, node.into().as_ptr() as *mut std::ffi::c_void)?))
    }

    /// A list of `items`, in order.
    pub fn of<T: Into<Node>>(items: impl IntoIterator<Item = T>) -> PgResult<List> {
        items.into_iter().try_fold(List::NIL, |l, n| l.append(n))
    }

    /// A list held as a raw pointer (NIL being NULL), for code inside `pg/`.
    pub(in crate::pg) fn from_ptr(p: *mut sys::List) -> List {
        List(p)
    }

    pub(in crate::pg) fn as_ptr(self) -> *mut sys::List {
        self.0
    }

    pub fn is_nil(self) -> bool {
        self.0.is_null()
    }

    /// Its elements, as the target entries of a target list.
    pub fn target_entries(self) -> Vec<TargetEntry> {
        query::target_entries(self.0)
    }
}

/// The node pointers of a `List` (NIL gives none).
fn elements(l: *mut sys::List) -> Vec<NonNull<sys::Node>> {
    // SAFETY: `l` is NIL or a pointer list of a tree of this planning call (module rules).
    unsafe { nodes::list::<sys::Node>(l) }.into_iter().filter_map(NonNull::new).collect()
}

/// Defines a typed view: a `Copy` handle on a node struct with getters (and setters) of the
/// named fields. Kinds of fields:
/// - `value name: T = field` a plain value (`T` is the field's type or a lossless conversion);
/// - `node name = field` a node pointer, as `Option<Node>`;
/// - `nodes name = field` a List of nodes, as `Vec<Node>`;
/// - `views name: View = field` a List of one node type, as `Vec<View>`;
/// - `view name: View = field` a pointer to one node type, as `Option<View>`;
/// - `set_node`, `set_list` name a setter of a node or List field.
macro_rules! view {
    (
        $(#[$m:meta])*
        $name:ident($raw:ident) {
            $( value $vget:ident : $vty:ty = $vfield:ident; )*
            $( node $nget:ident = $nfield:ident; )*
            $( nodes $lget:ident = $lfield:ident; )*
            $( views $tget:ident : $tview:ident = $tfield:ident; )*
            $( view $oget:ident : $oview:ident = $ofield:ident; )*
            $( set_node $snset:ident = $snfield:ident; )*
            $( set_list $slset:ident = $slfield:ident; )*
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub(super) std::ptr::NonNull<$crate::pg::sys::$raw>);

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({:p})"), self.0)
            }
        }

        impl From<$name> for $crate::pg::node::Node {
            fn from(v: $name) -> $crate::pg::node::Node {
                $crate::pg::node::Node(v.0.cast())
            }
        }

        #[allow(dead_code)]
        impl $name {
            fn raw(&self) -> &$crate::pg::sys::$raw {
                // SAFETY: a view points to a valid node of its type (module rules).
                unsafe { self.0.as_ref() }
            }

            fn raw_mut(self) -> *mut $crate::pg::sys::$raw {
                self.0.as_ptr()
            }

            /// The node as a generic handle.
            pub fn node(self) -> $crate::pg::node::Node {
                self.into()
            }

            /// The raw pointer, for PostgreSQL's functions (inside `pg/`).
            pub(in crate::pg) fn as_ptr(self) -> *mut $crate::pg::sys::$raw {
                self.0.as_ptr()
            }

            $(
                pub fn $vget(self) -> $vty {
                    self.raw().$vfield as $vty
                }
            )*
            $(
                pub fn $nget(self) -> Option<$crate::pg::node::Node> {
                    $crate::pg::node::Node::from_ptr(self.raw().$nfield)
                }
            )*
            $(
                pub fn $lget(self) -> Vec<$crate::pg::node::Node> {
                    $crate::pg::node::elements(self.raw().$lfield)
                        .into_iter()
                        .map($crate::pg::node::Node)
                        .collect()
                }
            )*
            $(
                pub fn $tget(self) -> Vec<$tview> {
                    $crate::pg::node::elements(self.raw().$tfield)
                        .into_iter()
                        .map(|p| $tview(p.cast()))
                        .collect()
                }
            )*
            $(
                pub fn $oget(self) -> Option<$oview> {
                    std::ptr::NonNull::new(self.raw().$ofield).map(|p| $oview(p.cast()))
                }
            )*
            $(
                pub fn $snset(self, node: Option<$crate::pg::node::Node>) {
                    // SAFETY: setters are used only on trees this planning call owns (module rules); no reference from `raw` is held across a setter.
                    unsafe {
                        (*self.raw_mut()).$snfield =
                            node.map_or(std::ptr::null_mut(), |n| n.as_ptr() as _);
                    }
                }
            )*
            $(
                pub fn $slset(self, list: $crate::pg::node::List) {
                    // SAFETY: as for the node setters.
                    unsafe { (*self.raw_mut()).$slfield = list.as_ptr() };
                }
            )*
        }
    };
}
pub(crate) use view;

macro_rules! as_view {
    ($($fn:ident -> $view:ident),* $(,)?) => {
        impl Node {
            $(
                pub fn $fn(self) -> Option<$view> {
                    match self.kind() {
                        Kind::$view(v) => Some(v),
                        _ => None,
                    }
                }
            )*
        }
    };
}

as_view! {
    as_var -> Var,
    as_op_expr -> OpExpr,
    as_bool_expr -> BoolExpr,
    as_sub_link -> SubLink,
    as_query -> Query,
    as_from_expr -> FromExpr,
}

/// The view of a Query PostgreSQL hands a hook as a raw pointer.
pub(in crate::pg) fn query_view(q: *mut sys::Query) -> PgResult<Query> {
    Node::of(q)?.as_query().ok_or_else(|| super::PgError::internal("not a Query"))
}
