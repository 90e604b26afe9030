-- One service's role and database, idempotently: run once per service by the database-setup Job
-- (ROLE_NAME and ROLE_PASSWORD from the service's `<service>-database` Secret), connected to RDS as
-- the master user. Every statement can run again: the role is created or has its password reset to
-- the secret's, the database is created only if absent, grants and revokes are repeatable.
\set ON_ERROR_STOP on
\getenv role ROLE_NAME
\getenv password ROLE_PASSWORD
-- Notices ("already a member" on every run after the first) are not news.
SET client_min_messages TO warning;

SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
-- The password as the secret has it now (Secrets Manager may have rotated it); stored as a SCRAM
-- verifier (password_encryption is scram-sha-256 by default on PostgreSQL 15).
ALTER ROLE :"role" WITH LOGIN PASSWORD :'password';
-- CREATE DATABASE ... OWNER needs the master user to be a member of the owner role.
GRANT :"role" TO CURRENT_USER;

SELECT format('CREATE DATABASE %I OWNER %I', :'role', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'role') \gexec
ALTER DATABASE :"role" OWNER TO :"role";
-- Only its own role connects to a service's database (PUBLIC has CONNECT and TEMPORARY by default).
REVOKE CONNECT, TEMPORARY ON DATABASE :"role" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"role" TO :"role";
