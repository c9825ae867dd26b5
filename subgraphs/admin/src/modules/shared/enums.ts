import { registerEnumType } from "type-graphql";

// The same lowercase words in GraphQL, REST and the database (Prisma's `Role`), like the
// registry's enums.

export enum Role {
  owner = "owner",
  admin = "admin",
  developer = "developer",
  viewer = "viewer",
}

registerEnumType(Role, {
  name: "Role",
  description: "Role of a member in an organization, from most to least powerful",
});

// --- OIDC login (issue 9) ---
export enum MembershipStatus {
  invited = "invited",
  active = "active",
}

registerEnumType(MembershipStatus, {
  name: "MembershipStatus",
  description: "`invited`: added by email, grants nothing until that person's first login; `active`: a member",
});
// --- end OIDC login ---
