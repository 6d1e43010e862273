from django.db import migrations

# An append at an expected version reads the head FOR SHARE to name the current version in its
# refusal. A row lock gives the transaction an xid and a WAL record, so committing a refused
# attempt would wait for a WAL flush. Inside a caller's transaction this function aborts it,
# carrying the head in the error's detail (see streams/backends/database/postgresql.py, REFUSED_SQLSTATE);
# an append that is its own transaction commits its refusal asynchronously instead.
CREATE = """
CREATE OR REPLACE FUNCTION flipbook_refuse(version bigint, kind text, category text)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'FB409', MESSAGE = 'flipbook: append refused',
        DETAIL = version || '|' || kind || '|' || coalesce(category, '');
END $$
"""
DROP = "DROP FUNCTION IF EXISTS flipbook_refuse(bigint, text, text)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("streams", "0003_subscriptions"),
    ]

    operations = [migrations.RunPython(create, drop)]
