-- A case's raising and responding agencies by the partnership directory's
-- id ('' when the agency declared is not in the directory), so that the
-- partnership's pack counts an agency by what it is, not by how someone
-- typed it. New cases get them when they open (store: setAgencyIDs, by
-- policies.Policy.AgencyID); existing ones are filled here from the policy
-- each ran under, matching the declared agency to an id or a name.
ALTER TABLE cases
    ADD COLUMN raiser_agency_id     text NOT NULL DEFAULT '',
    ADD COLUMN respondent_agency_id text NOT NULL DEFAULT '';

UPDATE cases c SET
    raiser_agency_id = coalesce((
        SELECT a->>'id' FROM case_policies p, jsonb_array_elements(
            CASE WHEN jsonb_typeof(p.content->'agencies') = 'array' THEN p.content->'agencies' ELSE '[]'::jsonb END) a
        WHERE p.ref = c.ref AND coalesce(a->>'id', '') <> ''
          AND (lower(a->>'id') = lower(btrim(c.raiser_agency)) OR lower(a->>'name') = lower(btrim(c.raiser_agency)))
        ORDER BY lower(a->>'id') = lower(btrim(c.raiser_agency)) DESC LIMIT 1), ''),
    respondent_agency_id = coalesce((
        SELECT a->>'id' FROM case_policies p, jsonb_array_elements(
            CASE WHEN jsonb_typeof(p.content->'agencies') = 'array' THEN p.content->'agencies' ELSE '[]'::jsonb END) a
        WHERE p.ref = c.ref AND coalesce(a->>'id', '') <> ''
          AND (lower(a->>'id') = lower(btrim(c.respondent_agency)) OR lower(a->>'name') = lower(btrim(c.respondent_agency)))
        ORDER BY lower(a->>'id') = lower(btrim(c.respondent_agency)) DESC LIMIT 1), '');

CREATE INDEX cases_policy_raiser_agency_id ON cases (policy, raiser_agency_id);
CREATE INDEX cases_policy_respondent_agency_id ON cases (policy, respondent_agency_id);

-- The dates the partnership's group that reviews escalations meets (Devon's
-- Business Group, Northamptonshire's Quality & Governance sub-group): the
-- meeting pack covers the time since the last one, and the business office
-- is sent a digest before the next.
CREATE TABLE partnership_meetings (
    policy     text        NOT NULL,
    meets_on   date        NOT NULL,
    added_by   text        NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (policy, meets_on),
    CHECK (policy <> '' AND length(policy) <= 64 AND length(added_by) <= 254)
);
GRANT SELECT, INSERT, DELETE ON partnership_meetings TO escalate_app;
