//! Who people are: roles and the industries enterprises belong to.

crate::string_enum! {
    /// What a user does on the platform (PRODUCT.md, "Who uses it").
    pub enum Role {
        /// Frontline worker (一线职工).
        Worker = "WORKER",
        /// Expert in a model-worker innovation studio who evaluates proposals.
        Reviewer = "REVIEWER",
        /// The model worker who leads a studio: assigns reviewers, decides, runs pilots.
        StudioLead = "STUDIO_LEAD",
        /// The enterprise's technical or union department.
        EnterpriseAdmin = "ENTERPRISE_ADMIN",
        /// An industry association (行业协会).
        Association = "ASSOCIATION",
        /// Platform operator.
        Admin = "ADMIN",
    }
}

crate::string_enum! {
    pub enum Industry {
        /// 机械
        Machinery = "MACHINERY",
        /// 冶金
        Metallurgy = "METALLURGY",
        /// 建材
        BuildingMaterials = "BUILDING_MATERIALS",
        Other = "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Role::parse("studio_lead"), Some(Role::StudioLead));
        assert_eq!(Role::parse("boss"), None);
        for i in Industry::ALL {
            assert_eq!(Industry::parse(&i.to_string()), Some(*i));
        }
    }
}
