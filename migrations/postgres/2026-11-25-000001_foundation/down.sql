DROP TABLE signing_keys;
DROP TABLE clients;
DROP TABLE users;
