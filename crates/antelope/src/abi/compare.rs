//! Layout comparison: whether two ABIs encode an action identically.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::name::Name;

use super::*;

// ---------------------------------------------------------------------------------------------
// Layout comparison
// ---------------------------------------------------------------------------------------------

/// Checks that `theirs` (e.g. fetched from a chain) encodes `action` exactly like `ours` (the
/// bundled ABI). Field names, field order, extension markers and resolved types are compared
/// recursively. Struct, variant and alias *names* are not compared, because they do not
/// affect the bytes. The error path names the first difference. Variant alternatives appear
/// as `<k>`, e.g. `regproducer2.producer_authority<0>.keys`.
pub fn compare_action_types(ours: &Abi, theirs: &Abi, action: Name) -> Result<(), AbiError> {
    let a = ours
        .actions
        .get(&action)
        .ok_or(AbiError::UnknownAction { action })?;
    let Some(b) = theirs.actions.get(&action) else {
        return Err(AbiError::LayoutMismatch {
            path: action.to_string(),
            ours: format!("action type {}", a.type_name),
            theirs: "no such action".to_string(),
        });
    };
    let mut cmp = Comparer {
        ours,
        theirs,
        path: action.to_string(),
        seen: HashSet::new(),
        depth: 0,
    };
    cmp.ty(&a.ty, &b.ty)
}

struct Comparer<'a> {
    ours: &'a Abi,
    theirs: &'a Abi,
    path: String,
    /// (is_variant, our index, their index) pairs already being compared.
    seen: HashSet<(bool, usize, usize)>,
    depth: usize,
}

impl Comparer<'_> {
    fn mismatch(&self, ours: String, theirs: String) -> AbiError {
        AbiError::LayoutMismatch {
            path: self.path.clone(),
            ours,
            theirs,
        }
    }

    fn fields(abi: &Abi, s: &StructInfo) -> String {
        let list: Vec<String> = s
            .fields
            .iter()
            .map(|f| {
                let ext = if f.extension { "$" } else { "" };
                format!("{} {}{ext}", f.name, abi.describe(&f.ty))
            })
            .collect();
        format!("fields ({})", list.join(", "))
    }

    fn ty(&mut self, a: &Ty, b: &Ty) -> Result<(), AbiError> {
        if self.depth >= MAX_DEPTH {
            return Err(AbiError::TooDeep {
                path: self.path.clone(),
                limit: MAX_DEPTH,
            });
        }
        self.depth += 1;
        let result = self.ty_inner(a, b);
        self.depth -= 1;
        result
    }

    fn ty_inner(&mut self, a: &Ty, b: &Ty) -> Result<(), AbiError> {
        let (ours, theirs) = (self.ours, self.theirs);
        match (a, b) {
            (Ty::Builtin(x), Ty::Builtin(y)) if x == y => Ok(()),
            (Ty::Vector(x), Ty::Vector(y)) | (Ty::Optional(x), Ty::Optional(y)) => self.ty(x, y),
            (Ty::Array(x, n), Ty::Array(y, m)) if n == m => self.ty(x, y),
            (Ty::Struct(i), Ty::Struct(j)) => {
                if !self.seen.insert((false, *i, *j)) {
                    return Ok(());
                }
                let (sa, sb) = (&ours.structs[*i], &theirs.structs[*j]);
                let same_shape = sa.fields.len() == sb.fields.len()
                    && sa
                        .fields
                        .iter()
                        .zip(&sb.fields)
                        .all(|(x, y)| x.name == y.name && x.extension == y.extension);
                if !same_shape {
                    return Err(self.mismatch(Self::fields(ours, sa), Self::fields(theirs, sb)));
                }
                for (fa, fb) in sa.fields.iter().zip(&sb.fields) {
                    let len = self.path.len();
                    self.path.push('.');
                    self.path.push_str(&fa.name);
                    self.ty(&fa.ty, &fb.ty)?;
                    self.path.truncate(len);
                }
                Ok(())
            }
            (Ty::Variant(i), Ty::Variant(j)) => {
                if !self.seen.insert((true, *i, *j)) {
                    return Ok(());
                }
                let (va, vb) = (&ours.variants[*i], &theirs.variants[*j]);
                if va.alternatives.len() != vb.alternatives.len() {
                    return Err(self.mismatch(
                        format!("{} alternatives", va.alternatives.len()),
                        format!("{} alternatives", vb.alternatives.len()),
                    ));
                }
                for (k, ((_, ta), (_, tb))) in
                    va.alternatives.iter().zip(&vb.alternatives).enumerate()
                {
                    let len = self.path.len();
                    let _ = write!(self.path, "<{k}>");
                    self.ty(ta, tb)?;
                    self.path.truncate(len);
                }
                Ok(())
            }
            _ => Err(self.mismatch(ours.describe(a), theirs.describe(b))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::test_support::*;
    use serde_json::json;

    // ---- layout comparison ---------------------------------------------------------------

    #[test]
    fn compare_action_types_accepts_same_layouts_and_names_differences() {
        let chain = Abi::from_json_str(include_str!(
            "../../../../fixtures/jungle4_get_abi_eosio_2023.json"
        ))
        .unwrap();
        for action in [
            "regproducer",
            "regproducer2",
            "unregprod",
            "linkauth",
            "updateauth",
        ] {
            compare_action_types(sys(), &chain, name(action)).unwrap();
        }

        let modified = |edit: &dyn Fn(&mut Value)| {
            let mut v = fixture!("jungle4_get_abi_eosio_2023.json")["abi"].clone();
            edit(&mut v);
            Abi::from_def(AbiDef::from_json_value(v).unwrap()).unwrap()
        };
        let set_field = |v: &mut Value, s: &str, f: usize, key: &str, new: &str| {
            let st = v["structs"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|x| x["name"] == s)
                .unwrap();
            st["fields"][f][key] = json!(new);
        };

        let wider = modified(&|v| set_field(v, "regproducer", 3, "type", "uint32"));
        assert_eq!(
            compare_action_types(sys(), &wider, name("regproducer")).unwrap_err(),
            AbiError::LayoutMismatch {
                path: "regproducer.location".into(),
                ours: "uint16".into(),
                theirs: "uint32".into()
            }
        );
        let renamed = modified(&|v| set_field(v, "key_weight", 1, "name", "wt"));
        let e = compare_action_types(sys(), &renamed, name("regproducer2"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("regproducer2.producer_authority<0>.keys: layout differs"),
            "{e}"
        );
        assert!(
            e.contains("weight uint16") && e.contains("wt uint16"),
            "{e}"
        );
        // An alias renamed but resolving to the same layout is fine.
        let aliased = modified(&|v| {
            v["types"]
                .as_array_mut()
                .unwrap()
                .push(json!({"new_type_name": "loc_t", "type": "uint16"}));
            set_field(v, "regproducer", 3, "type", "loc_t");
        });
        compare_action_types(sys(), &aliased, name("regproducer")).unwrap();
        let missing = modified(&|v| {
            v["actions"]
                .as_array_mut()
                .unwrap()
                .retain(|a| a["name"] != "regproducer");
        });
        assert!(matches!(
            compare_action_types(sys(), &missing, name("regproducer")),
            Err(AbiError::LayoutMismatch { .. })
        ));
    }
}
