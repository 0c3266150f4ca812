// A second public entry of contact-plans/ (test/tidy.test.ts, EXTRA_PUBLIC_ENTRIES): the contact plan
// model, its file formats, bookings and contact graph routing — what a bundle agent and the orbital
// agent need — without element sets, SGP4 (satellite.js), OMM XML, stations and pass searches, which
// index.ts also loads. Every name here is also exported by index.ts, unchanged.
export type { Contact, ContactPlanData, PlanNode } from './contact-plan.ts';
export { ContactPlan, PLAN_CONTACTS_MAX, PLAN_WRITE_CHUNK_CONTACTS } from './contact-plan.ts';
export type { PlanFormat, PlanLoadOptions } from './plan-file.ts';
export { detectPlanFormat, formatContactPlan, formatContactPlanChunks, loadContactPlanFile, parseContactPlanText } from './plan-file.ts';
export { formatIonContactPlan, parseIonContactPlan } from './ion-contact-plan.ts';
export { formatHdtnContactPlan, parseHdtnContactPlan } from './hdtn-contact-plan.ts';
export { ContactPlanJsonSchema, formatContactPlanJson, parseContactPlanJson } from './plan-json.ts';
export type { BookableContacts } from './contact-bookings.ts';
export { ContactBookings } from './contact-bookings.ts';
export type { Route, RouteHop, RouteQuery } from './cgr.ts';
export { bestRoute, compareRoutes, findRoutes, LABEL_EXPANSIONS_MAX, LABELS_MAX, ROUTES_MAX } from './cgr.ts';
