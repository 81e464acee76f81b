-- One database per service (architecture.md: no service reads another's tables).
CREATE DATABASE streambet_user;
CREATE DATABASE streambet_bet_engine;
CREATE DATABASE streambet_pool;
CREATE DATABASE streambet_settlement;
CREATE DATABASE streambet_payment;
CREATE DATABASE streambet_integration;
CREATE DATABASE streambet_realtime;
CREATE DATABASE streambet_analytics;
