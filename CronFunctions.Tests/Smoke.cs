namespace CronFunctions.Tests;

public class CatalogSmokeTests
{
    [Fact]
    public void Catalog_HasSixJobs() => Assert.Equal(6, CronFunctions.Jobs.JobCatalog.All.Count);
}
