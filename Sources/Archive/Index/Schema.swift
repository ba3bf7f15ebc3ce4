// SPDX-License-Identifier: Apache-2.0
import GRDB

/// The index schema, created and upgraded by `DatabaseMigrator` migrations.
///
/// Never edit a shipped migration: add a new one, so that an index file written by an
/// older qrscpd opens (and is upgraded in place) in a newer one.
///
/// Text columns hold values decoded to UTF-8 (whatever the file's Specific Character
/// Set), trailing spaces removed; NULL when the file has no (or an empty) value.
/// `*_norm` columns hold the normalised person name (`TextValues.normalizedPN`).
/// `attrs` BLOBs hold the entity's other attributes as an Explicit VR Little Endian
/// data set, text re-encoded as UTF-8.
enum Schema {
    static let migrationIDs = ["v1", "v2", "v3", "v4"]

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE patient (
                        id INTEGER PRIMARY KEY,
                        patient_id TEXT NOT NULL DEFAULT '',
                        issuer TEXT NOT NULL DEFAULT '',
                        name TEXT, name_norm TEXT,
                        birth_date TEXT, sex TEXT,
                        attrs BLOB,
                        UNIQUE (patient_id, issuer)
                    );
                    CREATE INDEX patient_name_norm ON patient(name_norm);
                    CREATE INDEX patient_birth_date ON patient(birth_date);
                    CREATE TABLE study (
                        id INTEGER PRIMARY KEY,
                        patient_ref INTEGER NOT NULL REFERENCES patient(id),
                        study_uid TEXT NOT NULL UNIQUE,
                        study_date TEXT, study_time TEXT,
                        accession TEXT, study_id TEXT,
                        ref_phys TEXT, ref_phys_norm TEXT,
                        description TEXT,
                        attrs BLOB
                    );
                    CREATE INDEX study_patient ON study(patient_ref);
                    CREATE INDEX study_date_time ON study(study_date, study_time);
                    CREATE INDEX study_accession ON study(accession);
                    CREATE INDEX study_study_id ON study(study_id);
                    CREATE INDEX study_ref_phys_norm ON study(ref_phys_norm);
                    CREATE TABLE series (
                        id INTEGER PRIMARY KEY,
                        study_ref INTEGER NOT NULL REFERENCES study(id),
                        series_uid TEXT NOT NULL UNIQUE,
                        modality TEXT, series_number INTEGER,
                        series_date TEXT, series_time TEXT,
                        attrs BLOB
                    );
                    CREATE INDEX series_study ON series(study_ref, modality);
                    CREATE INDEX series_modality ON series(modality);
                    CREATE TABLE instance (
                        id INTEGER PRIMARY KEY,
                        series_ref INTEGER NOT NULL REFERENCES series(id),
                        study_ref INTEGER NOT NULL REFERENCES study(id),
                        sop_uid TEXT NOT NULL UNIQUE,
                        sop_class TEXT NOT NULL,
                        instance_number INTEGER,
                        path TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        mtime REAL NOT NULL,
                        transfer_syntax TEXT NOT NULL,
                        attrs BLOB
                    );
                    CREATE INDEX instance_series ON instance(series_ref);
                    CREATE INDEX instance_study ON instance(study_ref, sop_class);
                    """)
        }
        // v2: file-path lookups for the incremental scanner and C-GET/C-MOVE, and the
        // description/series-number keys used by viewers' study lists.
        m.registerMigration("v2") { db in
            try db.execute(
                sql: """
                    CREATE INDEX instance_path ON instance(path);
                    CREATE INDEX study_description ON study(description);
                    CREATE INDEX series_number ON series(series_number);
                    """)
        }
        // v3: files found damaged when sent (truncated, not a data set): why, NULL when not found
        // so; cleared when the file is indexed again. The partial index lists them at no cost
        // to the rest.
        m.registerMigration("v3") { db in
            try db.execute(
                sql: """
                    ALTER TABLE instance ADD COLUMN damaged TEXT;
                    CREATE INDEX instance_damaged ON instance(sop_uid) WHERE damaged IS NOT NULL;
                    """)
        }
        // v4: the bytes stored, for /metrics: SUM(size) (and the instance count) read from this
        // narrow index rather than from the table's rows with their attribute BLOBs.
        m.registerMigration("v4") { db in
            try db.execute(sql: "CREATE INDEX instance_size ON instance(size);")
        }
        return m
    }
}
