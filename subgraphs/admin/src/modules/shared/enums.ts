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
