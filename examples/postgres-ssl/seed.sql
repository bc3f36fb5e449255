CREATE TABLE plants (id integer PRIMARY KEY, name text NOT NULL, water_days integer NOT NULL);
INSERT INTO plants VALUES (1, 'fern', 3), (2, 'cactus', 21), (3, 'basil', 2);
CREATE TABLE waterings (plant integer REFERENCES plants(id), on_day date NOT NULL);
INSERT INTO waterings VALUES (1, '2024-05-01'), (3, '2024-05-02'), (1, '2024-05-04');
CREATE VIEW thirsty AS SELECT name FROM plants WHERE water_days < 5 ORDER BY name;
