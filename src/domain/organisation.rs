//! Who people are: roles and the industries enterprises belong to.

crate::string_enum! {
    /// What a user does on the platform (PRODUCT.md, "Who uses it"). 用户在平台上的角色。
    pub enum Role {
        /// Frontline worker (一线职工).
        Worker = "WORKER",
        /// A worker representative in the enterprise's algorithm oversight group (算法监督小组), appointed by its
        /// admin: reads how the criteria are applied (`oversight`), gives opinions on appeals, approves changes
        /// to the rules. Otherwise a worker. 职工代表（算法监督小组成员），由企业管理员任命：查看评审监督数据、对申诉发表意见、批准规则变更；其余同一线职工。
        Overseer = "OVERSEER",
        /// Expert in a model-worker innovation studio who evaluates proposals. 劳模创新工作室中评审提案的专家。
        Reviewer = "REVIEWER",
        /// The model worker who leads a studio: assigns reviewers, decides, runs pilots. 带领工作室的劳模：指派评审、作出决定、组织试点。
        StudioLead = "STUDIO_LEAD",
        /// The enterprise's technical or union department. 企业的技术部门或工会。
        EnterpriseAdmin = "ENTERPRISE_ADMIN",
        /// An industry association (行业协会).
        Association = "ASSOCIATION",
        /// Platform operator. 平台运营方。
        Admin = "ADMIN",
    }
}

crate::string_enum! {
    /// An industry of the catalogue. 行业。
    pub enum Industry {
        /// Machinery. 机械
        Machinery = "MACHINERY",
        /// Metallurgy. 冶金
        Metallurgy = "METALLURGY",
        /// Building materials. 建材
        BuildingMaterials = "BUILDING_MATERIALS",
        /// Any other industry. 其他行业。
        Other = "OTHER",
    }
}

/// Someone on the platform, as far as seeing them goes.
#[derive(Clone, Copy, Debug)]
pub struct Person {
    pub id: i64,
    pub role: Role,
    pub enterprise_id: Option<i64>,
}

/// How much of a person a viewer may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PersonSight {
    /// Their name and enterprise, where a proposal the viewer may see names them as its author. Not
    /// reachable by id.
    Named,
    /// Also team and studio, and reachable by id: people of the same enterprise.
    Colleague,
    /// Also points, credits and the ledger: the person, their enterprise's admins, platform admins.
    Steward,
}

pub fn person_sight(viewer: Option<Person>, person: Person) -> PersonSight {
    let Some(v) = viewer else { return PersonSight::Named };
    let same_enterprise = v.enterprise_id.is_some() && v.enterprise_id == person.enterprise_id;
    if v.id == person.id || v.role == Role::Admin || (v.role == Role::EnterpriseAdmin && same_enterprise) {
        PersonSight::Steward
    } else if same_enterprise {
        PersonSight::Colleague
    } else {
        PersonSight::Named
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_sees_how_much_of_a_person() {
        let worker = Person { id: 1, role: Role::Worker, enterprise_id: Some(10) };
        let p = |id, role, enterprise_id| Some(Person { id, role, enterprise_id });
        assert_eq!(person_sight(None, worker), PersonSight::Named);
        assert_eq!(person_sight(Some(worker), worker), PersonSight::Steward);
        assert_eq!(person_sight(p(2, Role::Admin, None), worker), PersonSight::Steward);
        assert_eq!(person_sight(p(2, Role::EnterpriseAdmin, Some(10)), worker), PersonSight::Steward);
        assert_eq!(person_sight(p(2, Role::EnterpriseAdmin, Some(11)), worker), PersonSight::Named);
        for role in [Role::Worker, Role::Reviewer, Role::StudioLead] {
            assert_eq!(person_sight(p(2, role, Some(10)), worker), PersonSight::Colleague);
            assert_eq!(person_sight(p(2, role, Some(11)), worker), PersonSight::Named);
        }
        assert_eq!(person_sight(p(2, Role::Association, None), worker), PersonSight::Named);
        // No enterprise on either side is not "the same enterprise".
        let loner = Person { id: 3, role: Role::Worker, enterprise_id: None };
        assert_eq!(person_sight(p(2, Role::Worker, None), loner), PersonSight::Named);
    }

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
